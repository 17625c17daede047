// Command afterparty is the organizers' CLI: keep the schedule in a YAML file, import
// members, run a function as if at a chosen time, serve the member pages locally, and
// read who answered what. It works against the local stack by default.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/afterparty/afterparty/shared/setup"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := root().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "afterparty:", err)
		os.Exit(1)
	}
}

func root() *cobra.Command {
	cmd := &cobra.Command{
		Use:           "afterparty",
		Short:         "Run your user group's meetings by email",
		Long:          "afterparty sends your group's invitations, reminders, icebreaker teasers and after-party pub emails from a schedule.\nWith no AWS settings in the environment it talks to the local stack (`make stack`); `afterparty env` prints those settings.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.AddCommand(envCmd(), scheduleCmd(), membersCmd(), runCmd(), serveCmd(), rsvpsCmd(), demoCmd())
	addOrganizerCommands(cmd)  // organizers.go
	cmd.AddCommand(smokeCmd()) // smoke.go
	return cmd
}

// app builds the application for a command: local defaults unless AWS is configured.
func app(cmd *cobra.Command) (*setup.App, error) {
	return appWith(cmd, setup.Logger())
}

func appWith(cmd *cobra.Command, log *slog.Logger) (*setup.App, error) {
	if where.stack != "" {
		return where.app(cmd, log)
	}
	return setup.New(cmd.Context(), nil, true, log)
}

// quietApp is app with only warnings and errors logged, for commands whose own
// output tells the story (the demo, run without --verbose). Like app, it talks to
// --stack when one is given.
func quietApp(cmd *cobra.Command) (*setup.App, error) {
	return appWith(cmd, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
}
