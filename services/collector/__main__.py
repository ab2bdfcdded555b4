from services.collector.app import main

main()
