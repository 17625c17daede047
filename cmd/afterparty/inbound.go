package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/afterparty/afterparty/shared/replies"
)

// inboundCmd runs a stored message through the replies function's handler, as if
// SES had received it on the reply domain. SES's SPF/DKIM/DMARC verdicts are not
// known for a file: --authenticated says they passed.
func inboundCmd() *cobra.Command {
	var authenticated bool
	cmd := &cobra.Command{
		Use:   "inbound FILE.eml",
		Short: "Run a received email (a calendar reply, a member writing back) through the replies function's handler",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			raw, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			a, err := app(cmd)
			if err != nil {
				return err
			}
			h, err := a.Replies()
			if err != nil {
				return err
			}
			out, err := h.Inbound(cmd.Context(), raw, nil, "", fileVerdicts(authenticated))
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s", out.Action)
			if out.Meeting != "" {
				fmt.Fprintf(cmd.OutOrStdout(), " meeting %s member %s", out.Meeting, out.Member)
			}
			if out.Answer != "" {
				fmt.Fprintf(cmd.OutOrStdout(), " answer %s", out.Answer)
			}
			if out.Place != "" {
				fmt.Fprintf(cmd.OutOrStdout(), " (%s)", out.Place)
			}
			if out.Reason != "" {
				fmt.Fprintf(cmd.OutOrStdout(), ": %s", out.Reason)
			}
			fmt.Fprintln(cmd.OutOrStdout())
			return nil
		},
	}
	cmd.Flags().BoolVar(&authenticated, "authenticated", false, "treat the sender as authenticated by SPF, DKIM and DMARC")
	return cmd
}

// fileVerdicts are the verdicts SES would give a message from a file: clean, and
// SPF, DKIM and DMARC passed if authenticated, else unknown (GRAY).
func fileVerdicts(authenticated bool) replies.Verdicts {
	v := replies.Verdicts{SPF: "GRAY", DKIM: "GRAY", DMARC: "GRAY", Spam: "PASS", Virus: "PASS"}
	if authenticated {
		v.SPF, v.DKIM, v.DMARC = "PASS", "PASS", "PASS"
	}
	return v
}
