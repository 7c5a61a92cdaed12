package replay

import (
	"bufio"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"slices"
	"time"

	"github.com/evcli/evcli/providers"
)

// DefaultSpillThreshold is how many bytes of events the sorter holds in
// memory before it writes a sorted run to a temporary file.
const DefaultSpillThreshold = 32 << 20

// eventOverhead approximates the memory an event costs beyond its strings
// and detail (struct, slice headers, allocator slack).
const eventOverhead = 320

// sorter orders events in bounded memory: it sorts up to threshold bytes of
// events in memory; beyond that it spills sorted runs to unlinked temporary
// files and merges them k ways.
type sorter struct {
	order     Order
	dir       string
	threshold int64

	buf      []providers.StoredEvent
	bufBytes int64
	runs     []*os.File
	n        int64
	spilled  int64 // bytes written to runs
}

func newSorter(order Order, dir string, threshold int64) *sorter {
	if threshold <= 0 {
		threshold = DefaultSpillThreshold
	}
	return &sorter{order: order, dir: dir, threshold: threshold}
}

func eventSize(ev *providers.StoredEvent) int64 {
	n := eventOverhead + len(ev.ID) + len(ev.DetailType) + len(ev.Source) + len(ev.Account) +
		len(ev.Region) + len(ev.Version) + len(ev.Detail) + len(ev.EventBusName) +
		len(ev.AggregateID) + len(ev.CorrelationID)
	for _, r := range ev.Resources {
		n += 16 + len(r)
	}
	return int64(n)
}

// Add adds ev; it may spill a run to disk.
func (s *sorter) Add(ev providers.StoredEvent) error {
	s.buf = append(s.buf, ev)
	s.bufBytes += eventSize(&ev)
	s.n++
	if s.bufBytes >= s.threshold {
		return s.spill()
	}
	return nil
}

// Len is the number of events added.
func (s *sorter) Len() int64 { return s.n }

// Runs is the number of runs spilled to disk.
func (s *sorter) Runs() int { return len(s.runs) }

func (s *sorter) sortBuf() {
	slices.SortFunc(s.buf, func(a, b providers.StoredEvent) int { return s.order.compareEvents(&a, &b) })
}

func (s *sorter) spill() error {
	s.sortBuf()
	f, err := os.CreateTemp(s.dir, "evcli-replay-*.run")
	if err != nil {
		return fmt.Errorf("replay: spill sorted run: %w (set a writable temporary directory with TMPDIR)", err)
	}
	// Unlinked at once: a killed replay leaves no files behind.
	_ = os.Remove(f.Name())
	s.runs = append(s.runs, f)
	w := bufio.NewWriterSize(f, 256<<10)
	var scratch []byte
	for i := range s.buf {
		scratch = encodeEvent(scratch[:0], &s.buf[i])
		if _, err := w.Write(scratch); err != nil {
			return fmt.Errorf("replay: spill sorted run to %s: %w", f.Name(), err)
		}
		s.spilled += int64(len(scratch))
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("replay: spill sorted run to %s: %w", f.Name(), err)
	}
	clear(s.buf)
	s.buf = s.buf[:0]
	s.bufBytes = 0
	return nil
}

// Sorted yields every added event in order. Call it once, after the last Add.
func (s *sorter) Sorted() iter.Seq2[providers.StoredEvent, error] {
	return func(yield func(providers.StoredEvent, error) bool) {
		if len(s.runs) == 0 {
			s.sortBuf()
			buf := s.buf
			s.buf = nil
			for i := range buf {
				ev := buf[i]
				buf[i] = providers.StoredEvent{} // let the GC have it
				if !yield(ev, nil) {
					return
				}
			}
			return
		}
		if len(s.buf) > 0 {
			if err := s.spill(); err != nil {
				yield(providers.StoredEvent{}, err)
				return
			}
		}
		s.buf = nil
		h := &mergeHeap{order: s.order}
		for _, f := range s.runs {
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				yield(providers.StoredEvent{}, err)
				return
			}
			c := &runCursor{r: bufio.NewReaderSize(f, 64<<10)}
			ok, err := c.next()
			if err != nil {
				yield(providers.StoredEvent{}, err)
				return
			}
			if ok {
				h.cs = append(h.cs, c)
			}
		}
		heap.Init(h)
		for h.Len() > 0 {
			c := h.cs[0]
			ev := c.cur
			ok, err := c.next()
			if err != nil {
				yield(providers.StoredEvent{}, err)
				return
			}
			if ok {
				heap.Fix(h, 0)
			} else {
				heap.Pop(h)
			}
			if !yield(ev, nil) {
				return
			}
		}
	}
}

// Close releases the runs.
func (s *sorter) Close() error {
	var errs []error
	for _, f := range s.runs {
		errs = append(errs, f.Close())
		_ = os.Remove(f.Name()) // where unlinking an open file failed
	}
	s.runs = nil
	s.buf = nil
	return errors.Join(errs...)
}

type runCursor struct {
	r   *bufio.Reader
	cur providers.StoredEvent
}

func (c *runCursor) next() (bool, error) {
	ev, err := decodeEvent(c.r)
	if err == io.EOF {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("replay: read sorted run: %w", err)
	}
	c.cur = ev
	return true, nil
}

type mergeHeap struct {
	order Order
	cs    []*runCursor
}

func (h *mergeHeap) Len() int { return len(h.cs) }
func (h *mergeHeap) Less(i, j int) bool {
	return h.order.compareEvents(&h.cs[i].cur, &h.cs[j].cur) < 0
}
func (h *mergeHeap) Swap(i, j int) { h.cs[i], h.cs[j] = h.cs[j], h.cs[i] }
func (h *mergeHeap) Push(x any)    { h.cs = append(h.cs, x.(*runCursor)) }
func (h *mergeHeap) Pop() any {
	c := h.cs[len(h.cs)-1]
	h.cs = h.cs[:len(h.cs)-1]
	return c
}

// The run format: per event, a uvarint record length, then the fields as
// uvarint-length-prefixed strings and varints, in the order below.

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func encodeEvent(b []byte, ev *providers.StoredEvent) []byte {
	var body []byte
	body = appendString(body, ev.ID)
	body = appendString(body, ev.Version)
	body = appendString(body, ev.DetailType)
	body = appendString(body, ev.Source)
	body = appendString(body, ev.Account)
	if ev.Time.IsZero() {
		body = append(body, 0)
	} else {
		body = append(body, 1)
		body = binary.AppendVarint(body, ev.Time.Unix())
		body = binary.AppendUvarint(body, uint64(ev.Time.Nanosecond()))
	}
	body = appendString(body, ev.Region)
	body = binary.AppendUvarint(body, uint64(len(ev.Resources)))
	for _, r := range ev.Resources {
		body = appendString(body, r)
	}
	body = appendString(body, string(ev.Detail))
	body = appendString(body, ev.EventBusName)
	body = binary.AppendVarint(body, ev.Seq)
	body = appendString(body, ev.AggregateID)
	body = binary.AppendVarint(body, ev.AggregateVersion)
	body = appendString(body, ev.CorrelationID)
	b = binary.AppendUvarint(b, uint64(len(body)))
	return append(b, body...)
}

// maxRunRecord bounds one spilled event (DynamoDB items stop at 400 KB,
// PutEvents entries at 256 KB): a longer length means a corrupt run.
const maxRunRecord = 64 << 20

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errors.New("corrupt run record")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errors.New("corrupt run record")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if uint64(len(d.b)) < n {
		d.err = errors.New("corrupt run record")
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string { return string(d.bytes()) }

func decodeEvent(r *bufio.Reader) (providers.StoredEvent, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		if err == io.EOF {
			return providers.StoredEvent{}, io.EOF
		}
		return providers.StoredEvent{}, err
	}
	if n > maxRunRecord {
		return providers.StoredEvent{}, fmt.Errorf("corrupt run record: length %d", n)
	}
	rec := make([]byte, n)
	if _, err := io.ReadFull(r, rec); err != nil {
		return providers.StoredEvent{}, err
	}
	d := &decoder{b: rec}
	var ev providers.StoredEvent
	ev.ID = d.string()
	ev.Version = d.string()
	ev.DetailType = d.string()
	ev.Source = d.string()
	ev.Account = d.string()
	if len(d.b) > 0 && d.b[0] == 1 {
		d.b = d.b[1:]
		sec := d.varint()
		nsec := d.uvarint()
		ev.Time = time.Unix(sec, int64(nsec)).UTC()
	} else if len(d.b) > 0 {
		d.b = d.b[1:]
	}
	ev.Region = d.string()
	if k := d.uvarint(); k > 0 && d.err == nil {
		if k > uint64(len(d.b)) {
			return ev, errors.New("corrupt run record")
		}
		ev.Resources = make([]string, k)
		for i := range ev.Resources {
			ev.Resources[i] = d.string()
		}
	}
	if det := d.bytes(); len(det) > 0 {
		ev.Detail = det // aliases rec, which is ours alone
	}
	ev.EventBusName = d.string()
	ev.Seq = d.varint()
	ev.AggregateID = d.string()
	ev.AggregateVersion = d.varint()
	ev.CorrelationID = d.string()
	return ev, d.err
}
