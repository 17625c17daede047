package group

// MemberSuppressed is the status of a member whose address bounced for good or
// who marked an email as spam: afterparty never sends to them again (Wants says
// no to every kind), and an import never makes them active again.
const MemberSuppressed = "suppressed"

// SoftBounceLimit is how many soft (transient) bounces suppress a member: a full
// mailbox now and then is life, a mailbox that is always full is gone.
const SoftBounceLimit = 3
