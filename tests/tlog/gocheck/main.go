// gocheck verifies a running Kuzet collector's transparency log with Go's own implementations
// (golang.org/x/mod/sumdb/note and sumdb/tlog, from Debian's golang-golang-x-mod-dev): the checkpoint's
// signature, hash tiles, entry bundles, inclusion proofs of given measurements and a consistency proof
// from an older checkpoint; or, offline, every C2SP tlog-proof of a kuzet-report bundle. Nothing here shares
// code with Kuzet's C++.
//
//	gocheck -url http://127.0.0.1:PORT -old OLD_CHECKPOINT_FILE UID...
//	gocheck -bundle BUNDLE_JSON -key VERIFIER_KEY
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const tileHeight = 8

var base string

func get(path string) ([]byte, error) {
	resp, err := http.Get(base + path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("GET %s: HTTP %d: %s", path, resp.StatusCode, body)
	}
	return body, nil
}

type checkpoint struct {
	origin string
	size   int64
	root   tlog.Hash
}

// The C2SP checkpoint body, parsed here rather than with tlog.ParseTree (which wants Go's sumdb origin).
func openCheckpoint(text []byte, verifier note.Verifier) (checkpoint, error) {
	n, err := note.Open(text, note.VerifierList(verifier))
	if err != nil {
		return checkpoint{}, fmt.Errorf("note.Open: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 || lines[len(lines)-1] != "" {
		return checkpoint{}, errors.New("checkpoint body is not origin, size, hash lines")
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		return checkpoint{}, err
	}
	root, err := tlog.ParseHash(lines[2])
	if err != nil {
		return checkpoint{}, err
	}
	if lines[0] != verifier.Name() {
		return checkpoint{}, errors.New("origin is not the key name")
	}
	return checkpoint{lines[0], size, root}, nil
}

// Tiles from the collector: C2SP paths are Go's without the height element ("tile/8/0/..." -> "tile/0/...").
type tileReader struct{ fetched int }

func (r *tileReader) Height() int { return tileHeight }
func (r *tileReader) SaveTiles([]tlog.Tile, [][]byte) {}
func (r *tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	var out [][]byte
	for _, t := range tiles {
		path := strings.Replace(t.Path(), "tile/8/", "tile/", 1)
		data, err := get("/log/" + path)
		if err != nil {
			return nil, err
		}
		r.fetched++
		out = append(out, data)
	}
	return out, nil
}

func decodeBundle(data []byte) ([][]byte, error) {
	var entries [][]byte
	for len(data) > 0 {
		if len(data) < 2 {
			return nil, errors.New("truncated bundle")
		}
		n := int(binary.BigEndian.Uint16(data))
		if len(data) < 2+n {
			return nil, errors.New("truncated entry")
		}
		entries = append(entries, data[2:2+n])
		data = data[2+n:]
	}
	return entries, nil
}

func hashes(list []string) ([]tlog.Hash, error) {
	var out []tlog.Hash
	for _, s := range list {
		h, err := tlog.ParseHash(s)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, nil
}

// A C2SP tlog-proof (https://c2sp.org/tlog-proof), parsed here from the spec's text: header, optional extra,
// index, hashes, an empty line, the checkpoint.
type tlogProof struct {
	extra      []byte
	index      int64
	proof      tlog.RecordProof
	checkpoint []byte
}

func parseTlogProof(text string) (tlogProof, error) {
	var p tlogProof
	head, cp, ok := strings.Cut(text, "\n\n")
	if !ok || cp == "" {
		return p, errors.New("no empty line before the checkpoint")
	}
	lines := strings.Split(head, "\n")
	if lines[0] != "c2sp.org/tlog-proof@v1" {
		return p, errors.New("not a c2sp.org/tlog-proof@v1")
	}
	lines = lines[1:]
	if len(lines) > 0 && strings.HasPrefix(lines[0], "extra ") {
		extra, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(lines[0], "extra "))
		if err != nil {
			return p, fmt.Errorf("extra: %v", err)
		}
		p.extra = extra
		lines = lines[1:]
	}
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "index ") {
		return p, errors.New("no index line")
	}
	index, err := strconv.ParseInt(strings.TrimPrefix(lines[0], "index "), 10, 64)
	if err != nil {
		return p, fmt.Errorf("index: %v", err)
	}
	p.index = index
	for _, l := range lines[1:] {
		h, err := tlog.ParseHash(l)
		if err != nil {
			return p, fmt.Errorf("hash: %v", err)
		}
		p.proof = append(p.proof, h)
	}
	p.checkpoint = []byte(cp)
	return p, nil
}

// Every measurement's tlog-proof in a kuzet-report bundle: its checkpoint signed by the log key, its
// inclusion proof leading to that checkpoint's root, and its entry (the extra data) naming the envelope.
func checkBundle(file, key string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var b struct {
		Log struct {
			Checkpoint string `json:"checkpoint"`
		} `json:"log"`
		Measurements []struct {
			Envelope  string `json:"envelope"`
			TlogProof string `json:"tlog_proof"`
		} `json:"measurements"`
	}
	if err := json.Unmarshal(data, &b); err != nil {
		return err
	}
	verifier, err := note.NewVerifier(key)
	if err != nil {
		return fmt.Errorf("note.NewVerifier(%q): %v", key, err)
	}
	if _, err := openCheckpoint([]byte(b.Log.Checkpoint), verifier); err != nil {
		return fmt.Errorf("the bundle's checkpoint: %v", err)
	}
	for i, m := range b.Measurements {
		p, err := parseTlogProof(m.TlogProof)
		if err != nil {
			return fmt.Errorf("measurement %d: tlog-proof: %v", i, err)
		}
		cp, err := openCheckpoint(p.checkpoint, verifier)
		if err != nil {
			return fmt.Errorf("measurement %d: tlog-proof checkpoint: %v", i, err)
		}
		if !bytes.Equal(p.checkpoint, []byte(b.Log.Checkpoint)) {
			return fmt.Errorf("measurement %d: tlog-proof ends in another checkpoint than the bundle's", i)
		}
		if err := tlog.CheckRecord(p.proof, cp.size, cp.root, p.index, tlog.RecordHash(p.extra)); err != nil {
			return fmt.Errorf("measurement %d (index %d): %v", i, p.index, err)
		}
		var entry struct {
			UID    string `json:"measurement_uid"`
			SHA256 string `json:"envelope_sha256"`
		}
		if err := json.Unmarshal(p.extra, &entry); err != nil {
			return fmt.Errorf("measurement %d: log entry: %v", i, err)
		}
		sum := sha256.Sum256([]byte(m.Envelope))
		if entry.SHA256 != hex.EncodeToString(sum[:]) {
			return fmt.Errorf("measurement %d: the log entry is another envelope's", i)
		}
		var env struct {
			Measurement struct {
				UID string `json:"measurement_uid"`
			} `json:"measurement"`
		}
		if err := json.Unmarshal([]byte(m.Envelope), &env); err != nil || env.Measurement.UID != entry.UID {
			return fmt.Errorf("measurement %d: the log entry names another measurement", i)
		}
	}
	fmt.Printf("%d tlog-proofs of the bundle verify\n", len(b.Measurements))
	return nil
}

func run() error {
	url := flag.String("url", "", "collector base URL")
	oldFile := flag.String("old", "", "an older signed checkpoint of the same log")
	bundleFile := flag.String("bundle", "", "a kuzet-report bundle.json to check offline")
	bundleKey := flag.String("key", "", "the log's verifier key (with -bundle)")
	flag.Parse()
	if *bundleFile != "" {
		return checkBundle(*bundleFile, *bundleKey)
	}
	base = *url

	vkey, err := get("/log/key")
	if err != nil {
		return err
	}
	verifier, err := note.NewVerifier(strings.TrimSpace(string(vkey)))
	if err != nil {
		return fmt.Errorf("note.NewVerifier(%q): %v", vkey, err)
	}
	text, err := get("/log/checkpoint")
	if err != nil {
		return err
	}
	cp, err := openCheckpoint(text, verifier)
	if err != nil {
		return fmt.Errorf("checkpoint: %v", err)
	}
	fmt.Printf("checkpoint %s size %d root %s verifies with %s\n", cp.origin, cp.size, cp.root, verifier.Name())

	// Tiles: Go's tile reader checks every tile it reads against the signed tree hash.
	reader := &tileReader{}
	hr := tlog.TileHashReader(tlog.Tree{N: cp.size, Hash: cp.root}, reader)
	root, err := tlog.TreeHash(cp.size, hr)
	if err != nil {
		return fmt.Errorf("tree hash from tiles: %v", err)
	}
	if root != cp.root {
		return errors.New("tree hash from tiles differs from the checkpoint")
	}

	// Entry bundles: every entry's record hash is the level-0 hash of the tiles.
	for n := int64(0); n*256 < cp.size; n++ {
		w := cp.size - n*256
		t := tlog.Tile{H: tileHeight, L: -1, N: n, W: 256}
		if w < 256 {
			t.W = int(w)
		}
		data, err := get("/log/" + strings.Replace(t.Path(), "tile/8/data/", "tile/entries/", 1))
		if err != nil {
			return err
		}
		entries, err := decodeBundle(data)
		if err != nil {
			return err
		}
		if len(entries) != t.W {
			return fmt.Errorf("bundle %d has %d entries, want %d", n, len(entries), t.W)
		}
		indexes := make([]int64, len(entries))
		for i := range entries {
			indexes[i] = tlog.StoredHashIndex(0, n*256+int64(i))
		}
		leaves, err := hr.ReadHashes(indexes)
		if err != nil {
			return err
		}
		for i, e := range entries {
			if tlog.RecordHash(e) != leaves[i] {
				return fmt.Errorf("entry %d does not hash to its leaf", n*256+int64(i))
			}
		}
	}
	fmt.Printf("%d tiles and every entry bundle check out\n", reader.fetched)

	// Inclusion proofs of the measurements named on the command line.
	for _, uid := range flag.Args() {
		body, err := get("/api/v1/measurements/" + uid + "/proof")
		if err != nil {
			return err
		}
		var p struct {
			Index      int64    `json:"index"`
			TreeSize   int64    `json:"tree_size"`
			Inclusion  []string `json:"inclusion"`
			Checkpoint string   `json:"checkpoint"`
			Entry      string   `json:"entry"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			return err
		}
		pcp, err := openCheckpoint([]byte(p.Checkpoint), verifier)
		if err != nil {
			return fmt.Errorf("proof checkpoint of %s: %v", uid, err)
		}
		if pcp.size != p.TreeSize {
			return fmt.Errorf("proof of %s: tree_size %d, checkpoint %d", uid, p.TreeSize, pcp.size)
		}
		proof, err := hashes(p.Inclusion)
		if err != nil {
			return err
		}
		if !strings.Contains(p.Entry, `"measurement_uid":"`+uid+`"`) {
			return fmt.Errorf("proof of %s carries another entry: %s", uid, p.Entry)
		}
		leaf := tlog.RecordHash([]byte(p.Entry))
		if err := tlog.CheckRecord(tlog.RecordProof(proof), pcp.size, pcp.root, p.Index, leaf); err != nil {
			return fmt.Errorf("inclusion of %s (index %d): %v", uid, p.Index, err)
		}
		// Go's own proof from the tiles is the same list of hashes.
		mine, err := tlog.ProveRecord(pcp.size, p.Index, tlog.TileHashReader(tlog.Tree{N: pcp.size, Hash: pcp.root}, reader))
		if err != nil {
			return err
		}
		if len(mine) != len(proof) {
			return fmt.Errorf("inclusion of %s: %d hashes, Go's has %d", uid, len(proof), len(mine))
		}
		for i := range mine {
			if mine[i] != proof[i] {
				return fmt.Errorf("inclusion of %s differs from Go's at %d", uid, i)
			}
		}
	}
	fmt.Printf("%d inclusion proofs verify\n", len(flag.Args()))

	// Consistency from an older checkpoint.
	if *oldFile != "" {
		oldText, err := os.ReadFile(*oldFile)
		if err != nil {
			return err
		}
		old, err := openCheckpoint(oldText, verifier)
		if err != nil {
			return fmt.Errorf("old checkpoint: %v", err)
		}
		body, err := get(fmt.Sprintf("/log/consistency?from=%d&to=%d", old.size, cp.size))
		if err != nil {
			return err
		}
		var c struct {
			Proof []string `json:"proof"`
		}
		if err := json.Unmarshal(body, &c); err != nil {
			return err
		}
		proof, err := hashes(c.Proof)
		if err != nil {
			return err
		}
		if err := tlog.CheckTree(tlog.TreeProof(proof), cp.size, cp.root, old.size, old.root); err != nil {
			return fmt.Errorf("consistency %d -> %d: %v", old.size, cp.size, err)
		}
		// And a tampered proof must fail.
		if len(proof) > 0 {
			proof[0][0] ^= 1
			if tlog.CheckTree(tlog.TreeProof(proof), cp.size, cp.root, old.size, old.root) == nil {
				return errors.New("a tampered consistency proof verified")
			}
		}
		fmt.Printf("consistency %d -> %d verifies\n", old.size, cp.size)
	}
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gocheck:", err)
		os.Exit(1)
	}
	fmt.Println("gocheck: OK")
}
