from redraft.testing.fake_openai import main

main()
