from cctrack.cli import main

main()
