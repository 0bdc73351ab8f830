package message

import "github.com/wabiz/wabiz/internal/apierr"

// Reaction is a validated reaction object. On-Premises support for
// reactions is UNCONFIRMED (spec §5.1.2); wabiz takes the Cloud API's shape,
// {"message_id": "<id>", "emoji": "<one emoji>"}, where an empty emoji
// removes the business's earlier reaction.
type Reaction struct {
	MessageID string `json:"message_id"`
	Emoji     string `json:"emoji"`
}

// checkReaction is the value check of type reaction. The message id is
// kept as given, as for a reply's context: only the network knows which
// messages exist.
func (d *decoder) checkReaction(errs *apierr.List) {
	const path = TypeReaction
	fields := objectAt(errs, d.params[TypeReaction], path)
	if fields == nil {
		return
	}
	before := errs.Len()
	id, _ := RequiredText(errs, fields, "message_id", Join(path, "message_id"), 0)
	emoji, ok := Given(fields, "emoji")
	if !ok {
		errs.Merge(apierr.MissingParam(Join(path, "emoji")))
	} else if s, isString := JSONString(emoji); !isString || s != "" && !IsSingleEmoji(s) {
		errs.Merge(apierr.InvalidValue(Join(path, "emoji"), Display(emoji)))
	} else if errs.Len() == before {
		d.out.Reaction = &Reaction{MessageID: id, Emoji: s}
	}
}
