"""What the public reads without a token (plan 3.2.2.1: 多途径、多手段无偿向社会公众发布; 5.4): the
published warnings and releases of real events and how each affected area stands, never a
drill, a proposal, a duty, a note or a person."""
