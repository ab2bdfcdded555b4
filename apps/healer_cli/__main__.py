from healer_cli.main import app

app()
