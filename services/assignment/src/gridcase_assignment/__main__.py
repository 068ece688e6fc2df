from gridcase_assignment.entrypoints.api import main

main()
