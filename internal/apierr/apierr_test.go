package apierr

import (
	"net/http"
	"testing"
)

func TestTableMatchesTheWebappForItsCodes(t *testing.T) {
	// A few rows of the Webapp's fixed table, checked code by code.
	for code, want := range map[int]Entry{
		1005: {1005, "Access denied", 403},
		1006: {1006, "Resource not found", 404},
		1011: {1011, "Service not ready", 500},
		1015: {1015, "Too many requests", 429},
		1016: {1016, "System overloaded", 503},
		1022: {1022, "Webhooks URL is not configured", 412},
		1024: {1024, "Password change required", 401},
		1026: {1026, "Receiver is incapable of receiving this message", 501},
		2001: {2001, "Template name does not exist in the translation", 404},
		2013: {2013, "Buttons are unsupported by the receiver", 501},
	} {
		if got, ok := Lookup(code); !ok || got != want {
			t.Errorf("Lookup(%d) = %+v, %v", code, got, ok)
		}
	}
	for c := 1000; c <= 1026; c++ {
		if _, ok := Lookup(c); !ok {
			t.Errorf("code %d missing from the table", c)
		}
	}
	for c := 2000; c <= 2013; c++ {
		if _, ok := Lookup(c); !ok {
			t.Errorf("code %d missing from the table", c)
		}
	}
}

func TestUnknownCodeBecomesUndefined(t *testing.T) {
	e := New(4242, "whatever")
	if e.Status != http.StatusInternalServerError || e.Details[0] != (Detail{Code: 0, Title: "undefined", Details: "Undefined error code 4242"}) {
		t.Fatalf("%+v", e)
	}
}

func TestListStatusIsTheLastErrors(t *testing.T) {
	var l List
	if l.Err() != nil {
		t.Fatal("empty list is an error")
	}
	l.Add(1013, "a")
	l.Merge(MissingParam("to"))
	e := l.Err()
	if e.Status != 400 || len(e.Details) != 2 || e.Code() != 1008 || e.Details[1].Details != "Missing mandatory parameter 'to'" {
		t.Fatalf("%+v", e)
	}
	l.Add(1016, "")
	if l.Err().Status != 503 {
		t.Fatal("status must follow the last error")
	}
	if got := NotRequired("image", "type", "text").Details[0].Details; got != "Parameter 'image' is not required for type 'text'" {
		t.Fatal(got)
	}
	if got := MandatoryFor("text", "type", "text").Details[0].Details; got != "Parameter 'text' is mandatory for type 'text'" {
		t.Fatal(got)
	}
	if got := InvalidValue("type", "x").Error(); got != "1009 Parameter value is not valid: Parameter 'type' has invalid value 'x'" {
		t.Fatal(got)
	}
}
