package entra_test

import (
	"testing"

	"github.com/idpsync/idpsync/connectors/connectortest"
	"github.com/idpsync/idpsync/connectors/entra/graphtest"
)

func TestFakeProcess(t *testing.T) {
	connectortest.ServeFake(t, map[string]connectortest.Fake{
		"graph-100k": func(t testing.TB) (string, func() int64) {
			s := serve(t, connectortest.Synthetic(bench100k), graphtest.Options{PageSize: 999})
			return s.URL, s.Requests
		},
	})
}
