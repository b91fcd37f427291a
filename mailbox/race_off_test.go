//go:build !race

package mailbox

const raceDetector = false
