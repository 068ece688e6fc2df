from gridcase_remediation.entrypoints.api import main

main()
