from services.memory_bridge.app import main

main()
