package message

import (
	"testing"
	"unicode"
)

func TestDecodeReactionErrors(t *testing.T) {
	react := func(object string) string {
		return `{"to":"15550001111","type":"reaction","reaction":` + object + `}`
	}
	runDecodeCases(t, []decodeCase{
		{"not an object", react(`"👍"`), 400, []detail{invalid("reaction", "👍")}},
		{"message_id missing", react(`{"emoji":"👍"}`), 400, []detail{missing("reaction.message_id")}},
		{"message_id blank", react(`{"message_id":" ","emoji":"👍"}`), 400, []detail{invalid("reaction.message_id", " ")}},
		{"message_id a number", react(`{"message_id":5,"emoji":"👍"}`), 400, []detail{invalid("reaction.message_id", "5")}},
		{"emoji missing", react(`{"message_id":"ABGG"}`), 400, []detail{missing("reaction.emoji")}},
		{"emoji null", react(`{"message_id":"ABGG","emoji":null}`), 400, []detail{missing("reaction.emoji")}},
		{"emoji text", react(`{"message_id":"ABGG","emoji":"ok"}`), 400, []detail{invalid("reaction.emoji", "ok")}},
		{"two emojis", react(`{"message_id":"ABGG","emoji":"👍👍"}`), 400, []detail{invalid("reaction.emoji", "👍👍")}},
		{"emoji with a space", react(`{"message_id":"ABGG","emoji":"👍 "}`), 400, []detail{invalid("reaction.emoji", "👍 ")}},
		{"emoji a shortcode", react(`{"message_id":"ABGG","emoji":":thumbsup:"}`), 400, []detail{invalid("reaction.emoji", ":thumbsup:")}},
		{"emoji a number", react(`{"message_id":"ABGG","emoji":1}`), 400, []detail{invalid("reaction.emoji", "1")}},
		{"both wrong", react(`{"message_id":[],"emoji":"a"}`), 400, []detail{invalid("reaction.message_id", "[]"), invalid("reaction.emoji", "a")}},
		{"empty emoji removes", react(`{"message_id":"ABGG","emoji":""}`), 0, nil},
		{"with a context", `{"to":"15550001111","type":"reaction","context":{"message_id":"ABGG"},"reaction":{"message_id":"ABGG","emoji":"❤️"}}`, 0, nil},
	})
}

func TestDecodeReactionModel(t *testing.T) {
	msg, err := Decode(mustParams(t, `{"to":"15550001111","type":"reaction","reaction":{"message_id":"ABGGFVUAAREfAhBKfBnisF2PMxF6LF6dC29B","emoji":"👍🏽"}}`))
	if err != nil {
		t.Fatal(err.Details)
	}
	if msg.Reaction == nil || *msg.Reaction != (Reaction{MessageID: "ABGGFVUAAREfAhBKfBnisF2PMxF6LF6dC29B", Emoji: "👍🏽"}) {
		t.Errorf("reaction %+v", msg.Reaction)
	}
}

func TestIsSingleEmoji(t *testing.T) {
	yes := []string{
		"👍", "👍🏽", "❤", "❤️", "☺️", "©️", "™", "🙂", "🫠", "🪿",
		"🇫🇷", "🇺🇳",
		"1️⃣", "#⃣", "*️⃣",
		"👨‍👩‍👧‍👦", "🧑🏽‍🚀", "❤️‍🔥", "🏳️‍🌈", "🏳️‍⚧️", "👁️‍🗨️", "🧔🏻‍♂️",
		"🧑🏻‍❤️‍💋‍🧑🏼", "🫱🏻‍🫲🏼",
		"🏴󠁧󠁢󠁳󠁣󠁴󠁿", "🏴󠁧󠁢󠁥󠁮󠁧󠁿",
		"🏽",
	}
	no := []string{
		"", " ", "a", "ok", "1", "#", "12", "1⃣⃣", "👍👍", "👍 ", " 👍", "🇫", "🇫🇷🇩🇪", "🇫🇷🇩",
		"👍\u200d", "\u200d👍", "👍\u200d\u200d👍", "\ufe0f", "\u20e3", "👍\u20e3",
		"🏴\U000E0067\U000E0062", "🏴\U000E007F\U000E0067", "\U000E0067\U000E007F",
		"é", "中", "\u0301", "👍\u0301", "\xff", "👍\xff", ":)", "<3",
	}
	for _, s := range yes {
		if !IsSingleEmoji(s) {
			t.Errorf("IsSingleEmoji(%q) = false", s)
		}
	}
	for _, s := range no {
		if IsSingleEmoji(s) {
			t.Errorf("IsSingleEmoji(%q) = true", s)
		}
	}
}

func TestExtendedPictographicTable(t *testing.T) {
	// The table must be well-formed for unicode.Is: sorted, not
	// overlapping, LatinOffset counting the ranges below U+0100.
	var prev rune = -1
	latin := 0
	for _, r := range extendedPictographic.R16 {
		if rune(r.Lo) <= prev || r.Hi < r.Lo || r.Stride != 1 {
			t.Fatalf("R16 range %+v after %#x", r, prev)
		}
		if r.Hi <= unicode.MaxLatin1 {
			latin++
		}
		prev = rune(r.Hi)
	}
	for _, r := range extendedPictographic.R32 {
		if rune(r.Lo) <= prev || r.Hi < r.Lo || r.Stride != 1 {
			t.Fatalf("R32 range %+v after %#x", r, prev)
		}
		prev = rune(r.Hi)
	}
	if latin != extendedPictographic.LatinOffset {
		t.Errorf("LatinOffset %d, want %d", extendedPictographic.LatinOffset, latin)
	}
	// Every pictograph is an emoji alone and with the emoji selector.
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if unicode.Is(extendedPictographic, r) && (!IsSingleEmoji(string(r)) || !IsSingleEmoji(string(r)+"\ufe0f")) {
			t.Fatalf("%U refused", r)
		}
	}
}
