package awsfake

import "net/http"

type bus struct{}
type logGroup struct{}
type Event struct{}
type Target struct{}

func (s *Server) newBus(name string, tags []Tag) *bus { return &bus{} }

type eventsService struct{ s *Server }
type logsService struct{ s *Server }

func (eventsService) parse(r *http.Request, body []byte) (op, *apiError) {
	return op{}, errf(400, "X", "x")
}
func (eventsService) writeError(w http.ResponseWriter, action string, e *apiError, requestID string) {
}
func (logsService) parse(r *http.Request, body []byte) (op, *apiError) {
	return op{}, errf(400, "X", "x")
}
func (logsService) writeError(w http.ResponseWriter, action string, e *apiError, requestID string) {}
