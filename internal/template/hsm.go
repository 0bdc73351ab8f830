package template

import (
	"encoding/json"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/message"
)

// The legacy `hsm` type (deprecated in v2.39): `namespace`, `element_name`
// (the template's name), `language` (or the older `fallback_lg` and
// `fallback_lc`) and `localizable_params`, the body's parameters in order.
// Each parameter is rendered as its `default`; its optional `currency` or
// `date_time` is checked but, as on the Cloud API, not localised.

// matchHSM reads localizable_params as the body's parameters. A template
// whose header or buttons need parameters cannot be sent this way (2009).
func (e *entry) matchHSM(errs *apierr.List, fields map[string]json.RawMessage) supplied {
	v := supplied{bodySeen: true, buttons: map[int][]value{}}
	const path = "hsm.localizable_params"
	var items []json.RawMessage
	raw, present := message.Given(fields, "localizable_params")
	if present {
		var isList bool
		if items, isList = message.List(raw); !isList {
			errs.Merge(apierr.InvalidValue(path, message.Display(raw)))
			e.checkLeftOut(errs, &v, true)
			return v
		}
	}
	if len(items) != e.body.params {
		errs.Addf(2000, "body: %s supplied, template expects %d", plural(len(items), "parameter"), e.body.params)
	} else {
		v.body = make([]value, len(items))
		for i, item := range items {
			v.body[i] = localizableParam(errs, item, message.At(path, i))
		}
	}
	e.checkLeftOut(errs, &v, true)
	return v
}

// localizableParam reads {default, currency? | date_time?}.
func localizableParam(errs *apierr.List, raw json.RawMessage, path string) value {
	fields := message.ObjectFields(raw)
	if fields == nil {
		errs.Merge(apierr.InvalidValue(path, message.Display(raw)))
		return value{}
	}
	text := textParam(errs, fields, "default", message.Join(path, "default"), bodySlot)
	currency, hasCurrency := message.Given(fields, "currency")
	dateTime, hasDateTime := message.Given(fields, "date_time")
	if hasCurrency && hasDateTime {
		errs.Addf(1010, "Only one of the following parameters may be present: '%s', '%s'",
			message.Join(path, "currency"), message.Join(path, "date_time"))
		return value{}
	}
	if hasCurrency {
		if cf := message.ObjectFields(currency); cf == nil {
			errs.Merge(apierr.InvalidValue(message.Join(path, "currency"), message.Display(currency)))
		} else {
			checkCurrency(errs, cf, "currency_code", "amount_1000", message.Join(path, "currency"))
		}
	}
	if hasDateTime {
		checkHSMDateTime(errs, dateTime, message.Join(path, "date_time"))
	}
	return value{text: text}
}

// checkHSMDateTime: exactly one of `component` (the date fields) and
// `unix_epoch` {timestamp}.
func checkHSMDateTime(errs *apierr.List, raw json.RawMessage, path string) {
	df := message.ObjectFields(raw)
	if df == nil {
		errs.Merge(apierr.InvalidValue(path, message.Display(raw)))
		return
	}
	component, hasComponent := message.Given(df, "component")
	epoch, hasEpoch := message.Given(df, "unix_epoch")
	switch {
	case hasComponent && hasEpoch:
		errs.Add(1010, "Exactly one of the following parameters must be present: 'component', 'unix_epoch'")
	case !hasComponent && !hasEpoch:
		errs.Add(1008, "Atleast one of the following parameters must be present: 'component', 'unix_epoch'")
	case hasComponent:
		if cf := message.ObjectFields(component); cf == nil {
			errs.Merge(apierr.InvalidValue(message.Join(path, "component"), message.Display(component)))
		} else {
			checkDateComponents(errs, cf, message.Join(path, "component"))
		}
	default:
		ef := message.ObjectFields(epoch)
		if ef == nil {
			errs.Merge(apierr.InvalidValue(message.Join(path, "unix_epoch"), message.Display(epoch)))
		} else if ts, ok := message.Given(ef, "timestamp"); !ok {
			errs.Merge(apierr.MissingParam(message.Join(path, "unix_epoch.timestamp")))
		} else {
			checkTimestamp(errs, ts, message.Join(path, "unix_epoch.timestamp"))
		}
	}
}
