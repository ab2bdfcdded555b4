from healer_cli.main import main

main()
