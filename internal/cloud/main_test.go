package cloud_test

import (
	"os"
	"testing"

	"github.com/offloadsecurity/cspm/internal/testenv"
)

func TestMain(m *testing.M) {
	testenv.NoCloudMetadata()
	os.Exit(m.Run())
}
