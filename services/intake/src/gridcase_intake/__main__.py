from gridcase_intake.entrypoints.api import main

main()
