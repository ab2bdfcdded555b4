from services.detector.app import main

main()
