package cloud

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/store"
)

// PublishMedia puts a file uploaded with POST /v1/media on the Cloud at
// once and records its Cloud media id for the sends that name it (the
// cache of cloudMedia), so the first send does not wait for an upload.
//
// A refusal of the file itself (an invalid parameter or a media upload
// error: Graph codes 100, 131009, 131053; HTTP 413) is returned as a
// permanent *network.Error: no send could carry the file. Anything else
// (the token, throttling, Cloud trouble, no answer) is returned as a plain
// error: the file stays on our volume and is uploaded at its first send.
func (n *Network) PublishMedia(ctx context.Context, m network.OutgoingMedia) error {
	id, err := n.postMedia(ctx, &m)
	if err != nil {
		var ge *GraphError
		if errors.As(err, &ge) && refusesFile(ge) {
			return mapGraphError(ge)
		}
		return fmt.Errorf("cloud: uploading media %s: %v", m.ID, mapCallError(err))
	}
	c := store.CloudMedia{MediaID: m.ID, CloudID: id, SHA256: m.SHA256, UploadedAt: n.now()}
	if err := n.store.PutCloudMedia(context.WithoutCancel(ctx), c); err != nil {
		return fmt.Errorf("cloud: recording the Cloud media id of %s: %w", m.ID, err)
	}
	return nil
}

// refusesFile says whether an upload's error is about the file.
func refusesFile(ge *GraphError) bool {
	if ge.HTTPStatus == http.StatusRequestEntityTooLarge {
		return true
	}
	if ge.HTTPStatus >= 500 {
		return false
	}
	switch ge.Code {
	case 100, 131009, 131053:
		return true
	}
	return false
}
