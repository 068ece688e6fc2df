package main

import (
	"context"
	"path/filepath"

	"github.com/compose-spec/compose-go/v2/cli"
)

// validateCompose loads a compose file the way `docker compose config` does: schema
// validation, interpolation from envFile only (not this process's environment, so a
// variable missing from the file is an error), and the consistency checks (depends_on,
// volumes and networks that exist). It returns the number of services.
func validateCompose(file, envFile string) (int, error) {
	options := []cli.ProjectOptionsFn{
		cli.WithWorkingDirectory(filepath.Dir(file)),
		cli.WithName("gridcase"),
	}
	if envFile != "" {
		options = append(options, cli.WithEnvFiles(envFile), cli.WithDotEnv)
	}
	projectOptions, err := cli.NewProjectOptions([]string{file}, options...)
	if err != nil {
		return 0, err
	}
	project, err := projectOptions.LoadProject(context.Background())
	if err != nil {
		return 0, err
	}
	return len(project.Services), nil
}
