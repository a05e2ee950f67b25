from selfinstruct.cli.app import main

main()
