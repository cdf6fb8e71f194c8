package capture

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tcptrace/tcptrace/tcp"
)

// publicCaptures is the shared folder of captures from other projects' test
// suites (see its README); it sits beside the repository.
const publicCaptures = "../../shared/pcaps"

// TestPublicCaptures reads every file of the public captures: each must end
// in io.EOF or a *FileError (or fail to open with an error), never panic,
// and finish quickly.
func TestPublicCaptures(t *testing.T) {
	if _, err := os.Stat(publicCaptures); err != nil {
		t.Skipf("public captures not present (%v); skipping", err)
	}
	var files, opened, damaged int
	var kinds [NumKinds]uint64
	err := filepath.WalkDir(publicCaptures, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) == ".txt" || filepath.Ext(path) == ".md" {
			return err
		}
		files++
		done := make(chan error, 1)
		var st Stats
		go func() {
			r, err := Files([]string{path}, Options{})
			if err != nil {
				done <- err
				return
			}
			defer r.Close()
			var seg tcp.Segment
			for {
				if _, err := r.Next(&seg); err != nil {
					st = r.Stats()
					if err == io.EOF {
						err = nil
					}
					done <- err
					return
				}
			}
		}()
		select {
		case err := <-done:
			if err == nil {
				opened++
				for k, n := range st.ByKind {
					kinds[k] += n
				}
				return nil
			}
			var fe *FileError
			if !errors.As(err, &fe) && !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s: error %v is not a *FileError", path, err)
			}
			damaged++
			t.Logf("%v", err)
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: still reading after 20 s", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d files: %d read to the end, %d refused or damaged; packets by kind %v", files, opened, damaged, kinds)
	if opened == 0 {
		t.Error("no public capture could be read")
	}
}
