module github.com/sous-examples/hello-go

go 1.19
