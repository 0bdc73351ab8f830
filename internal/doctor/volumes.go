package doctor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Free-space thresholds of the data and media volumes. Below spaceFail a
// few of the largest media files (100 MiB documents) or a burst of
// SQLite's write-ahead log (cut back to 64 MiB after each checkpoint) can
// fill the disk, and a full disk stops every write, accepted messages
// included; spaceWarn leaves time to act.
const (
	spaceFail = 1 << 30 // 1 GiB
	spaceWarn = 5 << 30 // 5 GiB
)

func statfs(path string) (Space, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return Space{}, err
	}
	return Space{Free: st.Bavail * uint64(st.Bsize), Total: st.Blocks * uint64(st.Bsize)}, nil
}

// checkVolume checks that dir is a directory this process can write to (by
// writing a file, as the server will) and that its file system has room.
// A directory that does not exist yet is a warning when it can be created:
// `wabiz serve` creates it.
func (r *run) checkVolume(name, label, dir string) {
	if dir == "" {
		r.add(name, Fail, "no %s directory configured", label)
		return
	}
	probeDir, missing := dir, false
	info, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		missing = true
		probeDir = existingAncestor(dir)
	case err != nil:
		r.add(name, Fail, "%s cannot be used: %v", dir, err)
		return
	case !info.IsDir():
		r.add(name, Fail, "%s is not a directory", dir)
		return
	}
	if err := probeWrite(probeDir); err != nil {
		if missing {
			r.add(name, Fail, "%s does not exist and cannot be created: %v", dir, err)
		} else {
			r.add(name, Fail, "%s is not writable: %v", dir, err)
		}
		return
	}
	space, err := r.o.Statfs(probeDir)
	if err != nil {
		r.add(name, Fail, "read the free space of %s: %v", probeDir, err)
		return
	}
	status, room := OK, fmt.Sprintf("%s free of %s", bytesText(space.Free), bytesText(space.Total))
	switch {
	case space.Free < spaceFail:
		status, room = Fail, room+fmt.Sprintf(", below %s: free space or grow the volume now", bytesText(spaceFail))
	case space.Free < spaceWarn:
		status, room = Warn, room+fmt.Sprintf(", below %s", bytesText(spaceWarn))
	}
	if missing {
		r.add(name, worse(status, Warn), "%s does not exist yet (wabiz serve creates it); %s", dir, room)
		return
	}
	r.add(name, status, "%s writable, %s", dir, room)
}

func worse(a, b Status) Status {
	if rank(b) > rank(a) {
		return b
	}
	return a
}

// existingAncestor is the nearest path above dir that exists: when it is
// not a directory, the probe's write there fails, as creating dir would.
func existingAncestor(dir string) string {
	d := filepath.Clean(dir)
	for {
		parent := filepath.Dir(d)
		if _, err := os.Stat(parent); err == nil || parent == d {
			return parent
		}
		d = parent
	}
}

// probeWrite writes, syncs and removes a file in dir.
func probeWrite(dir string) error {
	f, err := os.CreateTemp(dir, ".wabiz-doctor-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString("wabiz doctor write test\n"); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func bytesText(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}
