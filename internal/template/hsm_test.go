package template

import (
	"strings"
	"testing"
)

func TestHydrateHSMErrors(t *testing.T) {
	hsm := func(name, params string) string {
		return `{"namespace":"` + ns + `","element_name":"` + name + `","language":{"policy":"deterministic","code":"en"},"localizable_params":` + params + `}`
	}
	// first sends payment_due with p as its first parameter.
	first := func(p string) string { return hsm("payment_due", `[`+p+`,{"default":"Tuesday"}]`) }
	const lp = "hsm.localizable_params[0]"
	hsmOnly := func(what string) detail {
		return detail{2009, what + ", which an hsm message cannot supply; send it as type 'template'"}
	}
	runHydrateCases(t, []hydrateCase{
		{"language missing", "hsm", `{"namespace":"` + ns + `","element_name":"thanks"}`, 400, []detail{missing("hsm.language")}},
		{"localizable_params not a list", "hsm", hsm("payment_due", `{"default":"x"}`), 400,
			[]detail{invalid("hsm.localizable_params", `{"default":"x"}`)}},
		{"2000 count", "hsm", hsm("payment_due", `[{"default":"$30.00"}]`), 400,
			[]detail{{2000, "body: 1 parameter supplied, template expects 2"}}},
		{"2000 no localizable_params", "hsm", hsm("payment_due", `null`), 400,
			[]detail{{2000, "body: 0 parameters supplied, template expects 2"}}},
		{"a static template needs none", "hsm", hsm("thanks", `[]`), 0, nil},
		{"parameter not an object", "hsm", first(`"$30.00"`), 400, []detail{invalid(lp, "$30.00")}},
		{"default missing", "hsm", first(`{"currency":{"currency_code":"USD","amount_1000":1}}`), 400, []detail{missing(lp + ".default")}},
		{"2004 default too long", "hsm", first(`{"default":"` + strings.Repeat("d", 1025) + `"}`), 400,
			[]detail{{2004, "Parameter '" + lp + ".default' is longer than 1024 characters"}}},
		{"2006 default with a tab", "hsm", first(`{"default":"$30\t00"}`), 400,
			[]detail{{2006, "Parameter '" + lp + ".default' must not contain line breaks, tabs or more than 4 consecutive spaces"}}},
		{"2007 default of formatting marks", "hsm", first(`{"default":"~~"}`), 400,
			[]detail{{2007, "Parameter '" + lp + ".default' must not consist only of formatting characters (* _ ~ `)"}}},
		{"currency and date_time", "hsm", first(`{"default":"x","currency":{},"date_time":{}}`), 400,
			[]detail{{1010, "Only one of the following parameters may be present: '" + lp + ".currency', '" + lp + ".date_time'"}}},
		{"currency fields", "hsm", first(`{"default":"x","currency":{"currency_code":"usd"}}`), 400,
			[]detail{invalid(lp+".currency.currency_code", "usd"), missing(lp + ".currency.amount_1000")}},
		{"currency not an object", "hsm", first(`{"default":"x","currency":"USD"}`), 400, []detail{invalid(lp+".currency", "USD")}},
		{"date_time without a form", "hsm", first(`{"default":"x","date_time":{}}`), 400,
			[]detail{{1008, "Atleast one of the following parameters must be present: 'component', 'unix_epoch'"}}},
		{"date_time with both forms", "hsm", first(`{"default":"x","date_time":{"component":{},"unix_epoch":{"timestamp":1}}}`), 400,
			[]detail{{1010, "Exactly one of the following parameters must be present: 'component', 'unix_epoch'"}}},
		{"date_time component fields", "hsm", first(`{"default":"x","date_time":{"component":{"month":13,"calendar":"GREGORIAN"}}}`), 400,
			[]detail{invalid(lp+".date_time.component.month", "13")}},
		{"date_time component not an object", "hsm", first(`{"default":"x","date_time":{"component":"Tuesday"}}`), 400,
			[]detail{invalid(lp+".date_time.component", "Tuesday")}},
		{"unix_epoch without timestamp", "hsm", first(`{"default":"x","date_time":{"unix_epoch":{}}}`), 400,
			[]detail{missing(lp + ".date_time.unix_epoch.timestamp")}},
		{"unix_epoch timestamp not a number", "hsm", first(`{"default":"x","date_time":{"unix_epoch":{"timestamp":"soon"}}}`), 400,
			[]detail{invalid(lp+".date_time.unix_epoch.timestamp", "soon")}},
		{"2009 text header with a parameter", "hsm", hsm("welcome", `[{"default":"Acme"}]`), 400,
			[]detail{hsmOnly("header: the template's text header needs 1 parameter")}},
		{"2009 copy code and url suffix", "hsm", hsm("coupon", `[{"default":"SAVE10"}]`), 400,
			[]detail{hsmOnly("button 0 (copy_code): the template's copy_code button needs 1 parameter"),
				hsmOnly("button 1 (url): the template's url button needs 1 parameter")}},
		{"2009 location header", "hsm", hsm("store_location", `[]`), 400,
			[]detail{hsmOnly("header: the template's location header needs 1 parameter")}},
		{"parameter errors then what is left out", "hsm", hsm("welcome", `[{"default":""}]`), 400,
			[]detail{invalid(lp+".default", ""), hsmOnly("header: the template's text header needs 1 parameter")}},
	})
}
