package message

import (
	"math"
	"strings"
	"testing"
)

func TestDecodeLocationErrors(t *testing.T) {
	loc := func(object string) string {
		return `{"to":"15550001111","type":"location","location":` + object + `}`
	}
	long := strings.Repeat("n", MaxLocationTextChars+1)
	runDecodeCases(t, []decodeCase{
		{"not an object", loc(`"51.5,-0.1"`), 400, []detail{invalid("location", "51.5,-0.1")}},
		{"latitude missing", loc(`{"longitude":-0.1276}`), 400, []detail{missing("location.latitude")}},
		{"both missing", loc(`{"name":"Head office"}`), 400, []detail{missing("location.latitude"), missing("location.longitude")}},
		{"latitude null", loc(`{"latitude":null,"longitude":1}`), 400, []detail{missing("location.latitude")}},
		{"latitude over 90", loc(`{"latitude":90.0001,"longitude":1}`), 400, []detail{invalid("location.latitude", "90.0001")}},
		{"latitude under -90", loc(`{"latitude":"-91","longitude":1}`), 400, []detail{invalid("location.latitude", "-91")}},
		{"longitude over 180", loc(`{"latitude":1,"longitude":180.5}`), 400, []detail{invalid("location.longitude", "180.5")}},
		{"longitude with an exponent string", loc(`{"latitude":1,"longitude":"1e2"}`), 400, []detail{invalid("location.longitude", "1e2")}},
		{"latitude a word", loc(`{"latitude":"north","longitude":1}`), 400, []detail{invalid("location.latitude", "north")}},
		{"latitude NaN", loc(`{"latitude":"NaN","longitude":1}`), 400, []detail{invalid("location.latitude", "NaN")}},
		{"latitude with spaces", loc(`{"latitude":" 1","longitude":1}`), 400, []detail{invalid("location.latitude", " 1")}},
		{"latitude with a plus", loc(`{"latitude":"+1","longitude":1}`), 400, []detail{invalid("location.latitude", "+1")}},
		{"latitude trailing point", loc(`{"latitude":"1.","longitude":1}`), 400, []detail{invalid("location.latitude", "1.")}},
		{"latitude a bool", loc(`{"latitude":true,"longitude":1}`), 400, []detail{invalid("location.latitude", "true")}},
		{"latitude huge", loc(`{"latitude":1e400,"longitude":1}`), 400, []detail{invalid("location.latitude", "1e400")}},
		{"name not a string", loc(`{"latitude":1,"longitude":1,"name":5}`), 400, []detail{invalid("location.name", "5")}},
		{"name too long", loc(`{"latitude":1,"longitude":1,"name":"` + long + `"}`), 400, []detail{longer("location.name", MaxLocationTextChars)}},
		{"address too long", loc(`{"latitude":1,"longitude":1,"address":"` + long + `"}`), 400, []detail{longer("location.address", MaxLocationTextChars)}},
		{"url is not sent", loc(`{"latitude":1,"longitude":1,"url":5}`), 0, nil},
		{"every error", loc(`{"latitude":"x","longitude":[],"name":{},"address":false}`), 400,
			[]detail{invalid("location.latitude", "x"), invalid("location.longitude", "[]"), invalid("location.name", "{}"), invalid("location.address", "false")}},
		{"bounds included", loc(`{"latitude":-90,"longitude":"180"}`), 0, nil},
	})
}

func TestDecodeLocationModel(t *testing.T) {
	msg, err := Decode(mustParams(t, `{"to":"15550001111","type":"location","location":{"longitude":"-0.1276","latitude":51.5072,"name":"Head office","address":"1 Example St, London"}}`))
	if err != nil {
		t.Fatal(err.Details)
	}
	want := Location{Latitude: 51.5072, Longitude: -0.1276, Name: "Head office", Address: "1 Example St, London"}
	if msg.Location == nil || *msg.Location != want {
		t.Errorf("location %+v", msg.Location)
	}
}

func TestNumber(t *testing.T) {
	for raw, want := range map[string]float64{
		`1`: 1, `-1.5`: -1.5, `"51.5072"`: 51.5072, `"-0.1276"`: -0.1276, `1E2`: 100, `-0`: 0, `"-0.0"`: 0, `0.5e-1`: 0.05,
	} {
		got, ok := number([]byte(raw))
		if !ok || got != want || got == 0 && math.Signbit(got) {
			t.Errorf("number(%s) = %v, %v", raw, got, ok)
		}
	}
	for _, raw := range []string{`"1e2"`, `"0x1p-2"`, `0x1p-2`, `Inf`, `-Inf`, `"NaN"`, `1_000`, `"1_000"`, `".5"`, `"5."`, `"--1"`, `""`, `null`, `true`, `[1]`, ``, `1e999`} {
		if got, ok := number([]byte(raw)); ok {
			t.Errorf("number(%s) = %v", raw, got)
		}
	}
}
