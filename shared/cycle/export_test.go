package cycle

import "github.com/afterparty/afterparty/shared/group"

// CalendarFingerprint is the fingerprint announce compares a meeting by.
func CalendarFingerprint(m group.Meeting) string { return fingerprint(calendarState(m)) }
