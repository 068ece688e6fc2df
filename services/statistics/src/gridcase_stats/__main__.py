from gridcase_stats.entrypoints.api import main

main()
