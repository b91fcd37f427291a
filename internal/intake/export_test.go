package intake

// Hooks for the tests of package intake_test.

// SetCrashHook makes s call f at each crash point of ImportPaths (the kill test).
func SetCrashHook(s *Service, f func(what string)) { s.crash = f }

// SetBatchLimits lowers ImportPaths' batch limits.
func SetBatchLimits(s *Service, files, keys int) { s.batchFiles, s.batchKeys = files, keys }
