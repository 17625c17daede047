// Package buildcheck holds tests of the build itself: that go.mod is tidy and that
// `make test` checks it.
package buildcheck
