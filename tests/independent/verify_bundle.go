// An independent verifier of evidence bundles and witness receipts, written from
// docs/formats.md alone ("Custody checkpoints", "Custody events", "Witness receipt",
// "Evidence bundles"): no code of the platform, only Go's standard library and
// golang.org/x/mod/sumdb/note for the signed note. The Merkle proofs follow RFC 9162
// §2.1.3.2 and §2.1.4.2 as the document cites them.
//
//	go run verify_bundle.go BAG_DIR VERIFIER_KEY [RECEIPT.json CONSISTENCY.json]
//
// Exit 0 when everything holds, 1 naming the first problem.
package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

type event struct {
	Seq             int64    `json:"seq"`
	Time            string   `json:"time"`
	Actor           *string  `json:"actor"`
	Action          string   `json:"action"`
	Subject         string   `json:"subject"`
	Commitment      *string  `json:"commitment"`
	Details         string   `json:"details"`
	PrevHash        string   `json:"prev_hash"`
	Hash            string   `json:"hash"`
	Format          string   `json:"format"`
	ActorCommitment string   `json:"actor_commitment"`
	SubjectPrev     string   `json:"subject_prev"`
	InclusionProof  []string `json:"inclusion_proof"`
}

type checkpoint struct {
	size int64
	root []byte
}

func fail(format string, args ...interface{}) {
	fmt.Printf("FAIL "+format+"\n", args...)
	os.Exit(1)
}

func sum(data []byte) []byte { h := sha256.Sum256(data); return h[:] }

func hexOf(data []byte) string { return hex.EncodeToString(data) }

func unhex(s, what string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		fail("%s: not hex", what)
	}
	return b
}

func read(bag, rel string) []byte {
	data, err := os.ReadFile(filepath.Join(bag, filepath.FromSlash(rel)))
	if err != nil {
		fail("%s: cannot be read", rel)
	}
	return data
}

// manifest reads "<hex>  <path>" lines.
func manifest(bag, name string) map[string]string {
	entries := map[string]string{}
	scanner := bufio.NewScanner(bytes.NewReader(read(bag, name)))
	for scanner.Scan() {
		line := scanner.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		parts := strings.SplitN(line, " ", 2)
		if len(parts) != 2 {
			fail("%s: bad line", name)
		}
		entries[strings.TrimLeft(parts[1], " ")] = strings.ToLower(parts[0])
	}
	return entries
}

// canonical is the event's hashed text: 8 lines for v1, 9 for v2 (docs/formats.md).
func canonical(e event) []byte {
	opt := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	var lines []string
	switch e.Format {
	case "incidents-custody-event/v1", "":
		lines = []string{"incidents-custody-event/v1", strconv.FormatInt(e.Seq, 10), e.Time,
			opt(e.Actor), e.Action, e.Subject, opt(e.Commitment), e.Details}
	case "incidents-custody-event/v2":
		lines = []string{"incidents-custody-event/v2", strconv.FormatInt(e.Seq, 10), e.Time,
			e.ActorCommitment, e.Action, e.Subject, opt(e.Commitment), e.SubjectPrev, e.Details}
	default:
		fail("event %d: unknown format %q", e.Seq, e.Format)
	}
	return []byte(strings.Join(lines, "\n"))
}

func checkHash(e event, where string) {
	want := hexOf(sum(append(canonical(e), unhex(e.PrevHash, where)...)))
	if want != e.Hash {
		fail("%s: event %d: hash does not recompute", where, e.Seq)
	}
}

func nodeHash(l, r []byte) []byte { return sum(append(append([]byte{1}, l...), r...)) }

// rootFromInclusion is RFC 9162 §2.1.3.2.
func rootFromInclusion(index, size int64, leaf []byte, proof [][]byte) []byte {
	if index < 0 || index >= size {
		return nil
	}
	fn, sn, r := index, size-1, leaf
	for _, p := range proof {
		if sn == 0 {
			return nil
		}
		if fn&1 == 1 || fn == sn {
			r = nodeHash(p, r)
			if fn&1 == 0 {
				for fn != 0 && fn&1 == 0 {
					fn >>= 1
					sn >>= 1
				}
			}
		} else {
			r = nodeHash(r, p)
		}
		fn >>= 1
		sn >>= 1
	}
	if sn != 0 {
		return nil
	}
	return r
}

// consistent is RFC 9162 §2.1.4.2.
func consistent(first, second int64, firstRoot, secondRoot []byte, proof [][]byte) bool {
	if first == second {
		return len(proof) == 0 && bytes.Equal(firstRoot, secondRoot)
	}
	if first == 0 || first > second || len(proof) == 0 {
		return first == 0 && len(proof) == 0
	}
	path := proof
	if first&(first-1) == 0 {
		path = append([][]byte{firstRoot}, proof...)
	}
	fn, sn := first-1, second-1
	for fn&1 == 1 {
		fn >>= 1
		sn >>= 1
	}
	fr, sr := path[0], path[0]
	for _, c := range path[1:] {
		if sn == 0 {
			return false
		}
		if fn&1 == 1 || fn == sn {
			fr = nodeHash(c, fr)
			sr = nodeHash(c, sr)
			if fn&1 == 0 {
				for fn != 0 && fn&1 == 0 {
					fn >>= 1
					sn >>= 1
				}
			}
		} else {
			sr = nodeHash(sr, c)
		}
		fn >>= 1
		sn >>= 1
	}
	return sn == 0 && bytes.Equal(fr, firstRoot) && bytes.Equal(sr, secondRoot)
}

// openCheckpoint verifies the note with the verifier key and parses origin, size, root.
func openCheckpoint(text []byte, vkey, where string) checkpoint {
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		fail("verifier key: %v", err)
	}
	n, err := note.Open(text, note.VerifierList(verifier))
	if err != nil {
		fail("%s: not signed by the verifier key (%v)", where, err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 || lines[0] != verifier.Name() {
		fail("%s: not a checkpoint of %s", where, verifier.Name())
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	root, err2 := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || err2 != nil || len(root) != 32 {
		fail("%s: bad size or root", where)
	}
	return checkpoint{size, root}
}

func hexList(values []string, where string) [][]byte {
	out := make([][]byte, len(values))
	for i, v := range values {
		out[i] = unhex(v, where)
	}
	return out
}

func main() {
	if len(os.Args) != 3 && len(os.Args) != 5 {
		fmt.Println("usage: verify_bundle BAG VERIFIER_KEY [RECEIPT CONSISTENCY]")
		os.Exit(2)
	}
	bag, vkey := os.Args[1], os.Args[2]

	// The bag: payload and tag manifests (SHA-256).
	payload := manifest(bag, "manifest-sha256.txt")
	for path, digest := range payload {
		if hexOf(sum(read(bag, path))) != digest {
			fail("%s: does not match manifest-sha256.txt", path)
		}
	}
	for path, digest := range manifest(bag, "tagmanifest-sha256.txt") {
		if hexOf(sum(read(bag, path))) != digest {
			fail("%s: does not match tagmanifest-sha256.txt", path)
		}
	}
	bundleID := ""
	for _, line := range strings.Split(string(read(bag, "bag-info.txt")), "\n") {
		if strings.HasPrefix(line, "External-Identifier: ") {
			bundleID = strings.TrimPrefix(line, "External-Identifier: ")
		}
	}

	// Events: each hash, consecutive links.
	var events []event
	bySeq := map[int64]event{}
	byHash := map[string]event{}
	commitments := map[string]bool{}
	for i, line := range strings.Split(strings.TrimSpace(string(read(bag, "custody/events.jsonl"))), "\n") {
		var e event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			fail("custody/events.jsonl line %d: %v", i+1, err)
		}
		checkHash(e, "custody/events.jsonl")
		if len(events) > 0 {
			last := events[len(events)-1]
			if e.Seq <= last.Seq || (e.Seq == last.Seq+1 && e.PrevHash != last.Hash) {
				fail("event %d: out of order or not linked", e.Seq)
			}
		}
		events = append(events, e)
		bySeq[e.Seq] = e
		byHash[e.Hash] = e
		if e.Commitment != nil {
			commitments[*e.Commitment] = true
		}
	}

	// The checkpoint and every inclusion proof.
	cp := openCheckpoint(read(bag, "custody/checkpoint.txt"), vkey, "custody/checkpoint.txt")
	var proofs struct {
		TreeSize int64               `json:"tree_size"`
		Proofs   map[string][]string `json:"proofs"`
	}
	if err := json.Unmarshal(read(bag, "custody/proofs.json"), &proofs); err != nil || proofs.TreeSize != cp.size {
		fail("custody/proofs.json: not for this checkpoint")
	}
	for _, e := range events {
		path, ok := proofs.Proofs[strconv.FormatInt(e.Seq, 10)]
		if !ok {
			fail("event %d: no inclusion proof", e.Seq)
		}
		leaf := sum(append([]byte{0}, unhex(e.Hash, "hash")...))
		if !bytes.Equal(rootFromInclusion(e.Seq, cp.size, leaf, hexList(path, "proof")), cp.root) {
			fail("event %d: not in the checkpoint's tree of size %d", e.Seq, cp.size)
		}
	}

	// Items: originals against metadata and recorded commitments.
	items := map[string]bool{}
	for path := range payload {
		if !strings.HasPrefix(path, "data/metadata/") {
			continue
		}
		var meta struct {
			Item, File, Sha256 string
			Commitment         struct{ Salt, Value string }
		}
		if err := json.Unmarshal(read(bag, path), &meta); err != nil {
			fail("%s: %v", path, err)
		}
		if hexOf(sum(read(bag, meta.File))) != meta.Sha256 {
			fail("%s: SHA-256 differs from %s", meta.File, path)
		}
		c := hexOf(sum(append(append([]byte("incidents/evidence-commitment/v1"),
			unhex(meta.Commitment.Salt, path)...), unhex(meta.Sha256, path)...)))
		if c != meta.Commitment.Value || !commitments[c] {
			fail("item %s: commitment not recorded by any event", meta.Item)
		}
		items[meta.Item] = true
	}

	// Completeness: the bundle statement, subject chains, pseudonyms.
	var statement *event
	for i := range events {
		if events[i].Action == "bundle_statement" && events[i].Subject == "bundle:"+bundleID {
			statement = &events[i]
		}
	}
	if statement == nil {
		fail("no bundle statement for %q", bundleID)
	}
	var doc struct {
		Bundle                string `json:"bundle"`
		PayloadManifestSha256 string `json:"payload_manifest_sha256"`
		Items                 map[string][]struct {
			Subject string `json:"subject"`
			Seq     int64  `json:"seq"`
			Hash    string `json:"hash"`
		} `json:"items"`
		Actors map[string][]string `json:"actors"`
	}
	if err := json.Unmarshal([]byte(statement.Details), &doc); err != nil || doc.Bundle != bundleID {
		fail("the bundle statement is malformed")
	}
	if hexOf(sum(read(bag, "manifest-sha256.txt"))) != doc.PayloadManifestSha256 {
		fail("manifest-sha256.txt: not the one the bundle statement names")
	}
	named := []string{}
	for item := range doc.Items {
		named = append(named, item)
		if !items[item] {
			fail("item %s: named by the bundle statement but missing", item)
		}
	}
	sort.Strings(named)
	if len(named) != len(items) {
		fail("the bundle holds an item its statement does not name")
	}
	zero := strings.Repeat("0", 64)
	for _, item := range named {
		for _, end := range doc.Items[item] {
			e, ok := bySeq[end.Seq]
			if !ok || e.Hash != end.Hash || e.Subject != end.Subject {
				fail("item %s: last event of %s missing", item, end.Subject)
			}
			for e.Format == "incidents-custody-event/v2" && e.SubjectPrev != zero {
				earlier, ok := byHash[e.SubjectPrev]
				if !ok || earlier.Subject != e.Subject {
					fail("item %s: an event of %s before %d is missing", item, e.Subject, e.Seq)
				}
				e = earlier
			}
		}
	}
	labels := map[string]string{}
	for label, list := range doc.Actors {
		for _, c := range list {
			labels[c] = label
		}
	}
	for _, e := range events {
		if e.Format == "incidents-custody-event/v2" && e.ActorCommitment != "" && e.Seq != statement.Seq {
			if e.Actor == nil || labels[e.ActorCommitment] != *e.Actor {
				fail("event %d: actor label not bound by the statement", e.Seq)
			}
		}
	}

	// A witness receipt, consistent with the bundle's checkpoint.
	if len(os.Args) == 5 {
		var receipt struct {
			Format     string  `json:"format"`
			Events     []event `json:"events"`
			Checkpoint struct {
				Note        string `json:"note"`
				VerifierKey string `json:"verifier_key"`
			} `json:"checkpoint"`
		}
		raw, err := os.ReadFile(os.Args[3])
		if err != nil || json.Unmarshal(raw, &receipt) != nil || receipt.Format != "incidents-receipt/v1" {
			fail("receipt: unreadable")
		}
		if receipt.Checkpoint.VerifierKey != vkey {
			fail("receipt: carries another verifier key")
		}
		rcp := openCheckpoint([]byte(receipt.Checkpoint.Note), vkey, "receipt checkpoint")
		for _, e := range receipt.Events {
			checkHash(e, "receipt")
			leaf := sum(append([]byte{0}, unhex(e.Hash, "hash")...))
			if !bytes.Equal(rootFromInclusion(e.Seq, rcp.size, leaf, hexList(e.InclusionProof, "proof")), rcp.root) {
				fail("receipt: event %d not in its checkpoint", e.Seq)
			}
		}
		var proof struct {
			First  int64    `json:"first"`
			Second int64    `json:"second"`
			Proof  []string `json:"proof"`
		}
		raw, err = os.ReadFile(os.Args[4])
		if err != nil || json.Unmarshal(raw, &proof) != nil {
			fail("consistency proof: unreadable")
		}
		small, large := rcp, cp
		if small.size > large.size {
			small, large = large, small
		}
		if proof.First != small.size || proof.Second != large.size ||
			!consistent(small.size, large.size, small.root, large.root, hexList(proof.Proof, "proof")) {
			fail("receipt: its checkpoint (size %d) is not consistent with the bundle's (size %d)", rcp.size, cp.size)
		}
	}
	fmt.Printf("OK %d events, %d items, complete, signed by %s\n", len(events), len(items), strings.SplitN(vkey, "+", 2)[0])
}
