// Command gridcase-validate checks the deployment files that cannot run on a machine
// without Docker or Kubernetes:
//
//	gridcase-validate k8s [-render DIR] OVERLAY...    kustomize build + strict schema check,
//	                                                  then the identity provider across objects
//	gridcase-validate compose [-env-file FILE] FILE  load with the Compose specification loader,
//	                                                 then check each service's Kafka login
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "k8s":
		err = runK8s(os.Args[2:])
	case "compose":
		err = runCompose(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: gridcase-validate k8s [-render DIR] OVERLAY... | compose [-env-file FILE] FILE")
	os.Exit(2)
}

func runK8s(args []string) error {
	flags := flag.NewFlagSet("k8s", flag.ExitOnError)
	renderDir := flags.String("render", "", "also write each overlay's output to DIR/<overlay>.yaml")
	_ = flags.Parse(args)
	if flags.NArg() == 0 {
		return fmt.Errorf("name at least one kustomize overlay directory")
	}
	failed := 0
	for _, overlay := range flags.Args() {
		report, err := validateOverlay(overlay, *renderDir)
		if err != nil {
			return err
		}
		for _, problem := range report.problems {
			fmt.Printf("%s: %s\n", overlay, problem)
		}
		fmt.Printf("%s: %d objects, %d problems\n", overlay, report.objects, len(report.problems))
		failed += len(report.problems)
	}
	if failed > 0 {
		return fmt.Errorf("%d problems", failed)
	}
	return nil
}

func runCompose(args []string) error {
	flags := flag.NewFlagSet("compose", flag.ExitOnError)
	envFile := flags.String("env-file", "", "interpolate variables from this file only")
	_ = flags.Parse(args)
	if flags.NArg() != 1 {
		return fmt.Errorf("name one compose file")
	}
	services, err := validateCompose(flags.Arg(0), *envFile)
	if err != nil {
		return err
	}
	fmt.Printf("%s: valid, %d services\n", flags.Arg(0), services)
	return nil
}
