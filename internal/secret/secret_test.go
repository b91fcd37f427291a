package secret

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestSecretNeverPrints(t *testing.T) {
	s := New([]byte("hunter2-very-secret"))
	outs := []string{
		fmt.Sprint(s), fmt.Sprintf("%s %v %q %x %+v %#v %d", s, s, s, s, s, s, s),
		fmt.Sprintf("%v", struct{ P Secret }{s}), fmt.Sprintf("%+v", &s),
	}
	j, err := json.Marshal(map[string]any{"p": s})
	if err != nil {
		t.Fatal(err)
	}
	outs = append(outs, string(j))
	for _, o := range outs {
		if strings.Contains(o, "hunter2") {
			t.Errorf("secret leaked: %s", o)
		}
		if !strings.Contains(o, "[REDACTED]") {
			t.Errorf("no redaction marker in %q", o)
		}
	}
	if string(s.Bytes()) != "hunter2-very-secret" {
		t.Fatal("bytes changed")
	}
	s.Wipe()
	if !s.Empty() {
		t.Fatal("wipe left bytes")
	}
}

func TestRead(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{"pass\n", "pass", false},
		{"pass\r\nsecond line\n", "pass", false},
		{"no newline", "no newline", false},
		{"  spaces kept  \n", "  spaces kept  ", false},
		{"\n", "", true},
		{"", "", true},
	}
	for _, tt := range tests {
		s, err := Read(strings.NewReader(tt.in))
		if (err != nil) != tt.wantErr {
			t.Fatalf("Read(%q) err = %v", tt.in, err)
		}
		if string(s.Bytes()) != tt.want {
			t.Errorf("Read(%q) = %q, want %q", tt.in, s.Bytes(), tt.want)
		}
	}
}
