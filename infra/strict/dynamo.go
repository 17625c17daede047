package strict

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Dynamo is the strict layer in front of dynalite. It checks each request against
// the DynamoDB rules that dynalite does not enforce (RULES.md) and answers a
// violation as DynamoDB does, with a ValidationException and DynamoDB's message;
// everything else goes to dynalite unchanged, whose answer comes back unchanged.
type Dynamo struct {
	upstream *url.URL
	proxy    *httputil.ReverseProxy
	client   *http.Client
	rec      *Recorder

	mu     sync.Mutex
	tables map[string]keySchema // by table name, from DescribeTable
}

// keySchema is a table's key: its attribute names and types.
type keySchema struct {
	hash, hashType   string
	rangeAttr, rType string
}

// NewDynamo makes the layer in front of upstream (dynalite's URL). rec may be nil.
func NewDynamo(upstream string, rec *Recorder) (*Dynamo, error) {
	u, err := url.Parse(upstream)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("strict dynamodb: upstream %q is not a URL", upstream)
	}
	p := httputil.NewSingleHostReverseProxy(u)
	p.Transport = &http.Transport{MaxIdleConnsPerHost: 256, IdleConnTimeout: 30 * time.Second}
	p.ErrorLog = log.New(io.Discard, "", 0) // a client giving up mid-request is expected in fault tests
	return &Dynamo{upstream: u, proxy: p, client: &http.Client{Transport: p.Transport, Timeout: 10 * time.Second},
		rec: rec, tables: map[string]keySchema{}}, nil
}

// maxRequestBody bounds what the layer reads: DynamoDB's largest request
// (BatchWriteItem, 16 MB of items) with room for its JSON.
const maxRequestBody = 32 << 20

func (d *Dynamo) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, "DynamoDB_20120810.")
	if r.Method != http.MethodPost || !ok {
		d.proxy.ServeHTTP(w, r) // the health probe (GET /) and anything not an API call
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
	r.Body.Close()
	if err != nil {
		http.Error(w, "read request: "+err.Error(), http.StatusBadRequest)
		return
	}
	if len(body) > maxRequestBody {
		writeDynamoError(w, "ValidationException", "Request body is too large")
		return
	}
	var req request
	if err := json.Unmarshal(body, &req); err == nil {
		for _, t := range req.tablesNamed(op) {
			d.rec.Record(Caller(r), Call{Action: "dynamodb:" + op, Resource: "table/" + t})
		}
		if msg := d.check(r, op, &req, len(body)); msg != "" {
			writeDynamoError(w, "ValidationException", msg)
			return
		}
		if op == "DeleteTable" || op == "CreateTable" {
			d.mu.Lock()
			delete(d.tables, req.TableName)
			d.mu.Unlock()
		}
	} // a body that is not JSON: dynalite answers it as DynamoDB does
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	d.proxy.ServeHTTP(w, r)
}

// writeDynamoError answers as DynamoDB's JSON protocol does (awsJson1_0), which
// the SDK decodes into its typed error.
func writeDynamoError(w http.ResponseWriter, kind, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amzn-Requestid", "strict-layer")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{
		"__type":  "com.amazon.coral.validate#" + kind,
		"message": msg,
	})
}

// av is an attribute value as the JSON protocol carries it: one type key.
type av map[string]json.RawMessage

type keysAndAttributes struct {
	Keys []map[string]av
}

type writeRequest struct {
	PutRequest    *struct{ Item map[string]av }
	DeleteRequest *struct{ Key map[string]av }
}

// request holds the fields of the operations the project calls that the rules read.
type request struct {
	TableName                 string
	Key                       map[string]av
	Item                      map[string]av
	ExclusiveStartKey         map[string]av
	KeyConditionExpression    *string
	ConditionExpression       *string
	UpdateExpression          *string
	FilterExpression          *string
	ProjectionExpression      *string
	ExpressionAttributeNames  map[string]string
	ExpressionAttributeValues map[string]av
	RequestItems              json.RawMessage
}

func (q *request) tablesNamed(op string) []string {
	if q.TableName != "" {
		return []string{q.TableName}
	}
	var m map[string]json.RawMessage
	if op == "BatchGetItem" || op == "BatchWriteItem" {
		_ = json.Unmarshal(q.RequestItems, &m)
	}
	var out []string
	for t := range m {
		out = append(out, t)
	}
	return out
}

// check returns DynamoDB's message for the first rule the request breaks, or "".
func (d *Dynamo) check(r *http.Request, op string, q *request, size int) string {
	// Rule D3: the length of each expression.
	for _, e := range []struct {
		name string
		expr *string
	}{
		{"KeyConditionExpression", q.KeyConditionExpression}, {"ConditionExpression", q.ConditionExpression},
		{"UpdateExpression", q.UpdateExpression}, {"FilterExpression", q.FilterExpression},
		{"ProjectionExpression", q.ProjectionExpression},
	} {
		if e.expr != nil && len(*e.expr) > maxExpression {
			return fmt.Sprintf("Invalid %s: Expression size has exceeded the maximum allowed size; expression size: %d", e.name, len(*e.expr))
		}
	}
	// Rule D4 and D5: placeholders and the substitution variables' total size.
	total := 0
	for k, v := range q.ExpressionAttributeNames {
		if len(k) > maxPlaceholder {
			return fmt.Sprintf("ExpressionAttributeNames contains invalid key: Syntax error; key: %q is longer than %d bytes", k[:20]+"...", maxPlaceholder)
		}
		total += len(k) + len(v)
	}
	for k, v := range q.ExpressionAttributeValues {
		if len(k) > maxPlaceholder {
			return fmt.Sprintf("ExpressionAttributeValues contains invalid key: Syntax error; key: %q is longer than %d bytes", k[:20]+"...", maxPlaceholder)
		}
		total += len(k) + valueSize(v)
	}
	if total > maxSubstitutions {
		return "Invalid expression: Expression attribute names and values exceed the maximum allowed size of 2 MB"
	}
	// Rule D7: substitutions without an expression.
	noExpr := q.KeyConditionExpression == nil && q.ConditionExpression == nil && q.UpdateExpression == nil &&
		q.FilterExpression == nil && q.ProjectionExpression == nil
	if noExpr && q.ExpressionAttributeValues != nil {
		return "ExpressionAttributeValues can only be specified when using expressions"
	}
	if noExpr && q.ExpressionAttributeNames != nil {
		return "ExpressionAttributeNames can only be specified when using expressions"
	}
	// Rules D9 and D10: attribute names.
	if msg := checkNames(q.Item); msg != "" {
		return msg
	}
	// Rule D6: nesting depth, in every value the request carries.
	for _, m := range []map[string]av{q.Item, q.ExpressionAttributeValues} {
		for _, v := range m {
			if depth(v) > maxDepth {
				return "Nesting Levels have exceeded supported limits"
			}
		}
	}
	// Rule D8: a BatchWriteItem's items together.
	if op == "BatchWriteItem" {
		if msg := checkBatchWrite(q.RequestItems); msg != "" {
			return msg
		}
	}
	// Rules D1 and D2: the values a key condition compares key attributes with.
	if op == "Query" && q.KeyConditionExpression != nil {
		ks, err := d.schema(r, q.TableName)
		if err != nil {
			return "" // dynalite answers for a table it does not have
		}
		return checkKeyCondition(*q.KeyConditionExpression, q.ExpressionAttributeNames, q.ExpressionAttributeValues, ks)
	}
	return ""
}

// DynamoDB's documented limits (RULES.md).
const (
	maxExpression    = 4 << 10
	maxPlaceholder   = 255
	maxSubstitutions = 2 << 20
	maxDepth         = 32
	maxBatchWrite    = 16 << 20
	maxHashKey       = 2048
	maxRangeKey      = 1024
	maxAttributeName = 64 << 10
)

func checkBatchWrite(raw json.RawMessage) string {
	var items map[string][]writeRequest
	if json.Unmarshal(raw, &items) != nil {
		return ""
	}
	total := 0
	for _, reqs := range items {
		for _, w := range reqs {
			if w.PutRequest == nil {
				continue
			}
			if msg := checkNames(w.PutRequest.Item); msg != "" {
				return msg
			}
			for name, v := range w.PutRequest.Item {
				total += len(name) + valueSize(v)
				if depth(v) > maxDepth {
					return "Nesting Levels have exceeded supported limits"
				}
			}
		}
	}
	if total > maxBatchWrite {
		return fmt.Sprintf("Too many items requested for the BatchWriteItem call: the items' total size %d bytes exceeds 16 MB", total)
	}
	return ""
}

// checkNames applies the attribute-name rules to an item's top-level names.
func checkNames(item map[string]av) string {
	for name := range item {
		if name == "" {
			return "One or more parameter values were invalid: An attribute name cannot be empty"
		}
		if len(name) > maxAttributeName {
			return fmt.Sprintf("One or more parameter values were invalid: An attribute name is %d bytes long, more than the 64 KB allowed", len(name))
		}
	}
	return ""
}

// depth is how deeply a value nests: 1 for a scalar, 1 more for each list or map level.
func depth(v av) int {
	deepest := 0
	if raw, ok := v["M"]; ok {
		var m map[string]av
		_ = json.Unmarshal(raw, &m)
		for _, c := range m {
			deepest = max(deepest, depth(c))
		}
		return deepest + 1
	}
	if raw, ok := v["L"]; ok {
		var l []av
		_ = json.Unmarshal(raw, &l)
		for _, c := range l {
			deepest = max(deepest, depth(c))
		}
		return deepest + 1
	}
	return 1
}

// valueSize is a value's size as DynamoDB counts it, closely enough for the limits:
// the bytes of strings and binaries, numbers' digits, and names in maps.
func valueSize(v av) int {
	n := 0
	for t, raw := range v {
		switch t {
		case "S", "N":
			var s string
			_ = json.Unmarshal(raw, &s)
			n += len(s)
		case "B":
			n += len(decodeB(raw))
		case "SS", "NS", "BS":
			var l []string
			_ = json.Unmarshal(raw, &l)
			for _, s := range l {
				n += len(s)
			}
		case "M":
			var m map[string]av
			_ = json.Unmarshal(raw, &m)
			for k, c := range m {
				n += len(k) + valueSize(c) + 1
			}
			n += 3
		case "L":
			var l []av
			_ = json.Unmarshal(raw, &l)
			for _, c := range l {
				n += valueSize(c) + 1
			}
			n += 3
		default:
			n++
		}
	}
	return n
}

func decodeB(raw json.RawMessage) []byte {
	var s string
	_ = json.Unmarshal(raw, &s)
	b, _ := base64.StdEncoding.DecodeString(s)
	return b
}

// keyComparison finds, in a key condition, each comparison of an attribute with
// values: `a = :v` (and <, <=, >, >=), `begins_with(a, :v)`, `a BETWEEN :v AND :w`.
var keyComparison = regexp.MustCompile(`(?i)(?:begins_with\s*\(\s*([#\w.]+)\s*,\s*(:\w+)\s*\)|([#\w.]+)\s*(?:=|<=|>=|<|>)\s*(:\w+)|([#\w.]+)\s+BETWEEN\s+(:\w+)\s+AND\s+(:\w+))`)

func checkKeyCondition(expr string, names map[string]string, values map[string]av, ks keySchema) string {
	for _, m := range keyComparison.FindAllStringSubmatch(expr, -1) {
		var attr string
		var placeholders []string
		switch {
		case m[1] != "":
			attr, placeholders = m[1], []string{m[2]}
		case m[3] != "":
			attr, placeholders = m[3], []string{m[4]}
		default:
			attr, placeholders = m[5], []string{m[6], m[7]}
		}
		if strings.HasPrefix(attr, "#") {
			attr = names[attr]
		}
		for _, p := range placeholders {
			v, ok := values[p]
			if !ok {
				continue // dynalite names an undefined placeholder
			}
			if msg := checkKeyValue(attr, v, ks); msg != "" {
				return msg
			}
		}
	}
	return ""
}

// checkKeyValue applies the key-attribute rules to one value compared with attr.
func checkKeyValue(attr string, v av, ks keySchema) string {
	for t, raw := range v {
		var size int
		switch t {
		case "S":
			var s string
			_ = json.Unmarshal(raw, &s)
			size = len(s)
			if size == 0 {
				return "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: " + attr
			}
		case "B":
			size = len(decodeB(raw))
			if size == 0 {
				return "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty binary value. Key: " + attr
			}
		default:
			continue
		}
		if attr == ks.hash && size > maxHashKey {
			return "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes"
		}
		if attr == ks.rangeAttr && size > maxRangeKey {
			return "One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes"
		}
	}
	return ""
}

// schema is the table's key schema, asked of dynalite once per table.
func (d *Dynamo) schema(r *http.Request, table string) (keySchema, error) {
	d.mu.Lock()
	ks, ok := d.tables[table]
	d.mu.Unlock()
	if ok {
		return ks, nil
	}
	body, _ := json.Marshal(map[string]string{"TableName": table})
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, d.upstream.String()+"/", bytes.NewReader(body))
	if err != nil {
		return ks, err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810.DescribeTable")
	req.Header.Set("Authorization", r.Header.Get("Authorization"))
	req.Header.Set("X-Amz-Date", r.Header.Get("X-Amz-Date"))
	res, err := d.client.Do(req)
	if err != nil {
		return ks, err
	}
	defer res.Body.Close()
	var out struct {
		Table struct {
			AttributeDefinitions []struct{ AttributeName, AttributeType string }
			KeySchema            []struct{ AttributeName, KeyType string }
		}
	}
	if res.StatusCode != http.StatusOK {
		return ks, fmt.Errorf("describe table %s: %s", table, res.Status)
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		return ks, err
	}
	types := map[string]string{}
	for _, a := range out.Table.AttributeDefinitions {
		types[a.AttributeName] = a.AttributeType
	}
	for _, k := range out.Table.KeySchema {
		if k.KeyType == "HASH" {
			ks.hash, ks.hashType = k.AttributeName, types[k.AttributeName]
		} else {
			ks.rangeAttr, ks.rType = k.AttributeName, types[k.AttributeName]
		}
	}
	d.mu.Lock()
	d.tables[table] = ks
	d.mu.Unlock()
	return ks, nil
}
