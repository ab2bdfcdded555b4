from services.remediator.app import main

main()
