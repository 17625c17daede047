package dynamo

// QueueOrder is the waitlist in the order it is served, for tests.
func QueueOrder(p Places) []string { return p.queueOrder() }
