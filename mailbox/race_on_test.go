//go:build race

package mailbox

const raceDetector = true
