// Package e2e holds the end-to-end tests of the service as it is deployed:
// three replicas of the built cmd/server behind Debian's nginx (rendered
// from the load-balancer template the repository ships), sharing one
// redis-server with append-only persistence, all on loopback.
//
// The tests drive it with a headless Chromium (chromedp) and with simulated
// users, and break it under load: a replica killed, a rolling restart, Redis
// stopped, Redis paused. They also run the previous release (built from
// the repository's history) next to this build, through a rollout and a
// rollback (releases_test.go), and restore the Redis records of past
// releases for this build to read (golden_test.go). Each test starts its own topology and ends every
// process it started, by PID. Screenshots, and the processes' logs of a failed
// test, go to $TEST_OUTPUT (set by `make test`), else to a temp folder whose
// path the test logs.
//
// The package has no code outside its tests.
package e2e
