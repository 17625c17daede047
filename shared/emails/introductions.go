package emails

import (
	"errors"
	"fmt"

	"github.com/emersion/go-message/mail"
)

// Introduction is the other member of a mutual introduction, as the email names
// them: both ticked each other on /met, so both agreed to share this.
type Introduction struct {
	OtherName  string
	OtherEmail string
	OtherLine  string // what they wrote about themselves ("" if nothing)
	OwnLine    string // what the recipient wrote, so they see what the other sees
}

func (i *Introduction) replyTo() []*mail.Address {
	return []*mail.Address{{Name: oneLine(i.OtherName), Address: i.OtherEmail}}
}

func (i *Introduction) validate() []error {
	if i == nil {
		return []error{errors.New("an introduction names nobody")}
	}
	if _, err := checkAddress(i.OtherEmail); err != nil {
		return []error{fmt.Errorf("the introduced member's address: %v", err)}
	}
	return nil
}
