package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/afterparty/afterparty/shared/config"
)

func envCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "env",
		Short: "Print the export lines that point afterparty and the AWS SDK at the local stack",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			local, err := config.Local(nil) // the ports infra/stack.sh was started on
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintln(out, "# afterparty's local stack (make stack); use: eval \"$(afterparty env)\"")
			for _, v := range append(local, config.Vars...) {
				if v.Default == "" {
					continue
				}
				fmt.Fprintf(out, "export %s=%s\n", v.Name, shellQuote(v.Default))
			}
			return nil
		},
	}
}

func shellQuote(s string) string {
	safe := true
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '/' || c == ':' || c == '@' || c == ',') {
			safe = false
		}
	}
	if safe {
		return s
	}
	out := "'"
	for _, c := range s {
		if c == '\'' {
			out += `'\''`
		} else {
			out += string(c)
		}
	}
	return out + "'"
}
