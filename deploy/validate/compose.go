package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// validateCompose loads a compose file the way `docker compose config` does: schema
// validation, interpolation from envFile only (not this process's environment, so a
// variable missing from the file is an error), and the consistency checks (depends_on,
// volumes and networks that exist); then checks how the services log in to Kafka. It
// returns the number of services.
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
	if problems := checkKafkaLogins(project.Services); len(problems) > 0 {
		return 0, fmt.Errorf("%s", strings.Join(problems, "\n"))
	}
	return len(project.Services), nil
}

// superUsers are the broker's own users; no service may log in as one.
var superUsers = map[string]bool{"admin": true, "broker": true}

// checkKafkaLogins checks that every gridcase service (a command gridcase-<name>) reaches
// Kafka over TLS with SCRAM, trusting a CA file, as a Kafka user of its own with a
// password of its own.
func checkKafkaLogins(services types.Services) []string {
	var problems []string
	users := map[string]string{}
	passwords := map[string]string{}
	names := make([]string, 0, len(services))
	for name := range services {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		service := services[name]
		if len(service.Command) == 0 || !strings.HasPrefix(service.Command[0], "gridcase-") {
			continue
		}
		value := func(key string) string {
			if v, ok := service.Environment[key]; ok && v != nil {
				return *v
			}
			return ""
		}
		if protocol := value("KAFKA_SECURITY_PROTOCOL"); protocol != "SASL_SSL" {
			problems = append(problems, fmt.Sprintf("%s: KAFKA_SECURITY_PROTOCOL is %q, not SASL_SSL", name, protocol))
		}
		if mechanism := value("KAFKA_SASL_MECHANISM"); !strings.HasPrefix(mechanism, "SCRAM-") {
			problems = append(problems, fmt.Sprintf("%s: KAFKA_SASL_MECHANISM is %q, not SCRAM", name, mechanism))
		}
		if value("KAFKA_SSL_CAFILE") == "" {
			problems = append(problems, fmt.Sprintf("%s: no KAFKA_SSL_CAFILE to verify the broker with", name))
		}
		user, password := value("KAFKA_SASL_USERNAME"), value("KAFKA_SASL_PASSWORD")
		switch {
		case user == "":
			problems = append(problems, fmt.Sprintf("%s: no KAFKA_SASL_USERNAME", name))
		case superUsers[user]:
			problems = append(problems, fmt.Sprintf("%s: logs in to Kafka as the super user %q", name, user))
		case users[user] != "":
			problems = append(problems, fmt.Sprintf("%s: shares the Kafka user %q with %s", name, user, users[user]))
		default:
			users[user] = name
		}
		switch {
		case password == "":
			problems = append(problems, fmt.Sprintf("%s: no KAFKA_SASL_PASSWORD", name))
		case passwords[password] != "":
			problems = append(problems, fmt.Sprintf("%s: shares its Kafka password with %s", name, passwords[password]))
		default:
			passwords[password] = name
		}
	}
	if len(users) == 0 {
		problems = append(problems, "no gridcase service (command gridcase-<name>) found")
	}
	return problems
}
