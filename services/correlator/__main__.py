from services.correlator.app import main

main()
