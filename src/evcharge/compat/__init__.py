"""What both seed API families need to behave like the ASP.NET originals.

Every quirk kept on purpose is named where it is implemented."""
