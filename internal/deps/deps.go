package main

import (
	_ "github.com/BurntSushi/toml"
	_ "github.com/ProtonMail/go-crypto/openpgp"
	_ "github.com/emersion/go-imap/v2/imapclient"
	_ "github.com/emersion/go-imap/v2/imapserver"
	_ "github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	_ "github.com/emersion/go-message/mail"
	_ "github.com/go-playground/validator/v10"
	_ "github.com/rs/zerolog"
	_ "github.com/xuri/excelize/v2"
	_ "go.etcd.io/bbolt"
	_ "golang.org/x/term"
)

func main() {}
