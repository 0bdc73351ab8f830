package cloud_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/network/cloud"
	"github.com/wabiz/wabiz/internal/network/cloud/graphtest"
)

func TestInspectToken(t *testing.T) {
	t.Parallel()
	g := graphtest.New(t)
	expires := time.Now().Add(48 * time.Hour).Truncate(time.Second).UTC()
	g.SetTokenExpiry(expires)
	g.SetTokenScopes("whatsapp_business_messaging")
	n := cloud.New(cloud.Options{GraphURL: g.GraphURL(), PhoneNumberID: g.PhoneNumberID, AccessToken: g.Token})
	info, err := n.InspectToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !info.Valid || info.Type != "SYSTEM_USER" || info.AppID != g.AppID || !info.ExpiresAt.Equal(expires) ||
		!slices.Equal(info.Scopes, []string{"whatsapp_business_messaging"}) {
		t.Errorf("info = %+v", info)
	}

	refused := cloud.New(cloud.Options{GraphURL: g.GraphURL(), PhoneNumberID: g.PhoneNumberID, AccessToken: "not-the-token"})
	_, err = refused.InspectToken(context.Background())
	var ge *cloud.GraphError
	if !errors.As(err, &ge) || ge.Code != 190 || ge.HTTPStatus != 401 {
		t.Errorf("refused token: %v", err)
	}
}
