package api

import (
	"net/http"

	"github.com/wabiz/wabiz/internal/message"
)

type messagesResponse struct {
	Messages []messageID `json:"messages"`
}

type messageID struct {
	ID string `json:"id"`
}

// sendMessage is POST /v1/messages: 201 once the message is durably queued;
// what happens next arrives on the webhook as statuses.
func (s *Server) sendMessage(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	out, apiErr := message.Decode(p)
	if apiErr != nil {
		return apiErr
	}
	id, err := s.messaging.Send(r.Context(), out)
	if err != nil {
		return err
	}
	s.writeOK(w, http.StatusCreated, messagesResponse{Messages: []messageID{{ID: id}}})
	return nil
}

// markMessageRead is PUT /v1/messages/{id} {"status":"read"}.
func (s *Server) markMessageRead(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	if apiErr := message.DecodeMarkRead(p); apiErr != nil {
		return apiErr
	}
	if err := s.messaging.MarkRead(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	s.writeOK(w, http.StatusOK, nil)
	return nil
}
