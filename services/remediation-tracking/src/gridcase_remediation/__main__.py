from gridcase_remediation.entrypoints.cli import main

main()
